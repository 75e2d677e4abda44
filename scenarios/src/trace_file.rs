//! Streams the trace to a JSON Lines file as the run goes, so a long run's trace never sits in
//! memory. The writer is shared with the caller, who flushes it and collects any I/O error
//! after the run (a sink cannot fail the event loop).

use std::cell::RefCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

use serde::Serialize;
use sim_core::{TraceEvent, TraceSink};

/// A JSON Lines trace file being written.
pub struct TraceFile {
    writer: BufWriter<File>,
    error: Option<std::io::Error>,
}

/// A handle the caller keeps to finish the file.
pub type SharedTraceFile = Rc<RefCell<TraceFile>>;

impl TraceFile {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> std::io::Result<SharedTraceFile> {
        let file = File::create(path)?;
        Ok(Rc::new(RefCell::new(Self {
            writer: BufWriter::with_capacity(1 << 20, file),
            error: None,
        })))
    }

    /// Flushes and reports the first error met while writing, if any.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.writer.flush()
    }

    fn write<M: Serialize>(&mut self, event: &TraceEvent<'_, M>) {
        if self.error.is_some() {
            return;
        }
        let result = serde_json::to_writer(&mut self.writer, event)
            .map_err(std::io::Error::other)
            .and_then(|()| self.writer.write_all(b"\n"));
        if let Err(e) = result {
            self.error = Some(e);
        }
    }
}

/// The sink handed to the simulation.
pub struct TraceFileSink(pub SharedTraceFile);

impl<M: Serialize> TraceSink<M> for TraceFileSink {
    fn record(&mut self, event: &TraceEvent<'_, M>) {
        self.0.borrow_mut().write(event);
    }
}
