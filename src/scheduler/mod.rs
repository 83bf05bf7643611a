//! Time-based work that is not an instance's own: Quartz cron expressions for deploy.xml
//! `<schedule>` cleanups (run by the router for the process versions it serves).

pub mod cron;
