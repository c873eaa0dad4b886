// The data plane's entry point; the uWebSockets.js gateway lands with the data-plane issue.
console.error("[tollgate] the data plane is not built yet: run `npm start` for the control plane");
process.exit(1);
