//! BPEL documents → [`super::ast::Process`], with diagnostics for what does not fit.
