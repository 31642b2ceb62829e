# Builds the spotcheck server. cgo is on for the embedded SQLite driver.
# The Go image matches the go line of go.mod.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -o /out/spotcheck ./server/cmd/spotcheck

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/spotcheck /usr/local/bin/spotcheck
ENV SPOTCHECK_ADDR=0.0.0.0:8080 SPOTCHECK_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
# The image has no curl: the binary probes its own /healthz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["spotcheck", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["spotcheck"]
CMD ["serve"]
