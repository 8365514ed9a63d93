// Node-RED settings for the iochub benchmark baseline (see README.md).
// Headless: no editor, no admin HTTP API, no projects, no persistent context.
// Everything that varies between runs comes from the environment (start.sh sets it).
"use strict";

const port = parseInt(process.env.NR_PORT || "", 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error("settings.js: NR_PORT must be set to a TCP port (got '" + (process.env.NR_PORT || "") + "')");
}
if (!process.env.NR_FLOW_FILE) {
    throw new Error("settings.js: NR_FLOW_FILE must name the flow file (start.sh sets it)");
}

module.exports = {
    // The flow to run (an absolute path, or relative to the userDir).
    flowFile: process.env.NR_FLOW_FILE,
    flowFilePretty: true,
    // Fixed, so that Node-RED never generates one and rewrites files in the userDir.
    // The flows hold no credentials (PostgreSQL's user/password come from PGUSER/PGPASSWORD).
    credentialSecret: "iochub-bench-nodered-not-a-secret",

    // HTTP server: only the WebSocket listener (/alerts) is served on it.
    uiHost: process.env.NR_HOST || "127.0.0.1",
    uiPort: port,
    httpAdminRoot: false, // no editor and no admin API
    disableEditor: true,
    httpNodeRoot: "/", // the websocket listener path is httpNodeRoot + "alerts"
    httpStatic: false,

    logging: {
        console: { level: process.env.NR_LOG_LEVEL || "warn", metrics: false, audit: false },
    },

    // No context persistence: the default in-memory store only.
    contextStorage: { default: { module: "memory" } },

    editorTheme: { projects: { enabled: false } },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },

    // Never install anything at run time: all modules come from package-lock.json.
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false, allowUpload: false },
        modules: { allowInstall: false },
    },
    functionExternalModules: false,
    functionGlobalContext: {},
    exportGlobalContextKeys: false,

    // Reconnect to a restarted broker quickly (default 15 s).
    mqttReconnectTime: 1000,
};
