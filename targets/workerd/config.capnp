# rtbench reference server: one Worker on workerd. Contract: ../README.md.
# start.sh binds the `http` socket to HOST:PORT with --socket-addr; UPSTREAM_URL comes from the environment.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .rtbenchWorker),
    # The default `internet` service reaches public addresses only; the relay's upstream is on loopback.
    (name = "internet", network = (allow = ["public", "private"])),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:8088", http = (), service = "main"),
  ],
);

const rtbenchWorker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
  bindings = [(name = "UPSTREAM_URL", fromEnvironment = "UPSTREAM_URL")],
);
