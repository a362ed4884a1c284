// pm2 process file. One pm2 process (fork mode) runs the primary, which owns the cluster:
// pm2's cluster mode would make pm2 the cluster primary, and neither the sticky routing nor the
// cluster adapter's primary side would run. `npm run build` first (or `npm start` once).
module.exports = {
  apps: [
    {
      name: "socketio-runtime",
      script: "dist/main.js",
      exec_mode: "fork",
      instances: 1,
      // the primary sends "ready" once every worker listens
      wait_ready: true,
      listen_timeout: 20000,
      // longer than the workers' drain (SHUTDOWN_TIMEOUT, 10 s by default)
      kill_timeout: 15000,
      max_memory_restart: "2G",
      merge_logs: true,
      env: {
        PORT: process.env.PORT || "3000",
        WORKERS: process.env.WORKERS || "",
      },
      env_production: {
        NODE_ENV: "production",
        PORT: process.env.PORT || "3000",
        WORKERS: process.env.WORKERS || "",
        LOG_LEVEL: process.env.LOG_LEVEL || "info",
      },
    },
  ],
};
