//! Scheduling with time as an input: no sleeping, no wall clock.

mod common;
mod cron;
mod due;
mod props;
mod state;
