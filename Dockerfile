# Builds the spotcheck server. cgo is on for the embedded SQLite driver.
FROM golang:1.26-bookworm AS build
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
ENTRYPOINT ["spotcheck"]
CMD ["serve"]
