//! Integration tests: one binary, hermetic (temp dirs, loopback port 0, a fake compiler).

mod config;
mod crash;
mod dbcli;
mod deploy;
mod mgmt;
mod runtime;
mod samples;
mod samples_run;
mod soap;
mod support;
mod upload;
mod versioning;
