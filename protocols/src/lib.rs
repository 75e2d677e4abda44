//! # protocols: what runs inside dsim
//!
//! Each module is one protocol: its server and client processes (sim-core [`Process`]es), its
//! options (including the known bugs it can be switched to), and the checks that judge a run
//! beyond the client history's linearizability. Each implements sim-core's [`Protocol`]
//! contract, the same one a protocol in another crate implements; nothing here is special to
//! the scenario runner.
//!
//! [`Process`]: sim_core::Process
//! [`Protocol`]: sim_core::Protocol

#![warn(missing_docs)]

pub mod chain;
pub mod gossip;
pub mod pingpong;
pub mod raft;
pub mod register;
pub mod twopc;
