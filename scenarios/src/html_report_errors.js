"use strict";
// Runs before the report's script: records every uncaught error on <html data-js-errors>, one per
// line, so a test (or a person in the inspector) sees them without reading the console.
const recordError = (text) => {
  const root = document.documentElement;
  root.dataset.jsErrors = (root.dataset.jsErrors ? root.dataset.jsErrors + "\n" : "") + text;
};
window.onerror = (message, source, line, column) => { recordError(`${message} (${source}:${line}:${column})`); };
window.onunhandledrejection = (event) => { recordError(`unhandled rejection: ${event.reason}`); };
