# The rtbench agent image (`rtbench images` builds it as rtbench-agent:<hash>): Debian 13 plus the
# rtbench binary that built it, copied in. That binary is built on the host with the locked crates;
# Debian's glibc is backward compatible, so a binary linked on an older glibc (Debian 12's 2.36
# here) runs on Debian 13's 2.41. Nothing is downloaded, so no CA certificates are needed.
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}
COPY rtbench /usr/local/bin/rtbench
# No ENTRYPOINT: a swarm service gives the whole command (a shell wrapper around `rtbench load`).
CMD ["rtbench", "--help"]
