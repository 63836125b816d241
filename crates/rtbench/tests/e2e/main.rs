//! rtbench end to end against the real targets: `run` (the quick suite, a crash mid-scenario,
//! SIGINT and `--resume`, an A/A pair), signals and SIGKILL, CPU placement and target order, an
//! open rate not sustained, `verify`, and the docker-default rule's root-only parts. One test
//! binary so that one lock serializes every test that launches servers: they share the server CPU
//! and the provisioning cache, and a concurrent load would be measured as noise. (`load` and `compare` tests use in-process servers
//! and fixtures and live in their own targets.)
mod docker_default;
mod placement;
mod run;
mod signals;
mod slices;
mod swarm;
mod swarm_run;
mod util;
mod verify;
mod versions;
