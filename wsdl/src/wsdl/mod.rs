//! WSDL 1.1.
