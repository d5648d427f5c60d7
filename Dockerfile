# recovery-harness in a small runtime image, for the Kubernetes Jobs in deploy/kubernetes/.
#   docker build -t recovery-harness:0.3.0 .
# Stage 1 builds the release binary; stage 2 is distroless (glibc, CA certificates, no shell),
# running as the non-root user 65532, which the Jobs' securityContext expects.

ARG RUST_VERSION=1.95
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin recovery-harness \
 && install -D -m 0755 target/release/recovery-harness /out/recovery-harness

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/recovery-harness /usr/local/bin/recovery-harness
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/recovery-harness"]
CMD ["--help"]
