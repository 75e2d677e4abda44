//! # ABD: an atomic register from majority quorums
//!
//! Attiya, Bar-Noy and Dolev's algorithm (JACM 1995), multi-writer form, one register per
//! key. Servers keep a timestamped value and never talk to each other; clients do all the
//! work in two round trips to a majority:
//!
//! - **write v**: ask a majority for their timestamps, then store `v` under a timestamp
//!   greater than any seen on a majority;
//! - **read**: ask a majority for their values, take the one with the greatest timestamp, and
//!   *write it back* to a majority before returning it, so no later read can return an older
//!   value.
//!
//! This crate is the worked example of bringing a protocol of your own to dsim: it uses only
//! the public API of `sim-core` and `scenarios`, and `abd-dsim` (src/main.rs) is the full
//! command line for it. The known bug `skip_read_write_back` returns a read after its first
//! round trip; the property test and a sweep of `scenarios/abd-nemesis.json` find it.

#![warn(missing_docs)]

mod client;
mod msg;
mod server;

use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};
use sim_core::{Cluster, ConfigError, ModelKind, OpFn, Protocol, SimBuilder, ms};

pub use client::AbdClient;
pub use msg::{AbdMsg, Timestamp};
pub use server::AbdServer;

/// Options of `abd` (`protocol.options` in a scenario file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbdOptions {
    /// How long (client local time) a client waits before resending to the servers that
    /// have not answered; never 0.
    pub resend_ns: NonZeroU64,
    /// Known bugs to switch on: `skip_read_write_back`.
    pub bugs: Vec<AbdBug>,
}

impl Default for AbdOptions {
    fn default() -> Self {
        Self {
            resend_ns: NonZeroU64::new(ms(20)).expect("20 ms is not 0"),
            bugs: Vec::new(),
        }
    }
}

/// Bugs ABD can be switched to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbdBug {
    /// A read returns the newest value of its first round trip without writing it back, so a
    /// later read can miss a value an earlier read returned.
    SkipReadWriteBack,
}

/// The ABD protocol.
pub struct Abd;

impl Protocol for Abd {
    const NAME: &'static str = "abd";
    const DESCRIPTION: &'static str = "ABD atomic register: majority quorums, reads write back";
    const MODEL: Option<ModelKind> = Some(ModelKind::Register);
    const OPERATIONS: &'static [OpFn] = &[OpFn::Read, OpFn::Write];
    type Msg = AbdMsg;
    type Options = AbdOptions;

    fn bugs() -> &'static [sim_core::BugInfo] {
        &[sim_core::BugInfo {
            name: "skip_read_write_back",
            description: "a read returns without writing back what it read (new-old inversion)",
        }]
    }

    fn populate(
        options: &AbdOptions,
        cluster: Cluster,
        builder: &mut SimBuilder<AbdMsg>,
    ) -> Result<(), ConfigError> {
        for _ in 0..cluster.servers {
            builder.add_server(|_| Box::new(AbdServer::default()));
        }
        let write_back = !options.bugs.contains(&AbdBug::SkipReadWriteBack);
        for _ in 0..cluster.clients {
            let resend_ns = options.resend_ns.get();
            builder.add_client(move |_| Box::new(AbdClient::new(resend_ns, write_back)));
        }
        Ok(())
    }
}
