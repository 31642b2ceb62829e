// Package faultnet is an in-process, fault-injecting TCP proxy for the sync
// fault tests and benchmarks.
//
// A Proxy listens on 127.0.0.1:0 and forwards every accepted connection to one
// upstream address. For each new connection a Plan (connection index →
// Faults) decides what happens to it: bandwidth throttling (token bucket),
// one-way latency per chunk, a cut after exactly N bytes in a direction, a
// cut after a duration, or refusal. The proxy as a whole can be paused (a
// tunnel: nothing moves until Resume), told to refuse new connections (no
// network), cut all live connections at once, and given a shared link rate
// that all connections split, as a device's single uplink would. Bytes are
// counted per direction, per connection and in total, so a test can measure
// bytes on the wire and bytes re-sent after a cut.
//
// Directions: Up is client → upstream (device → server), Down is upstream →
// client. Connection indexes start at 0 in accept order, so "the 3rd
// connection" is index 2.
//
// Why not toxiproxy: it is importable in-process, but it brings prometheus,
// zerolog and gorilla/mux for what is a few hundred lines here, and its
// toxics apply to every connection of a proxy alike (or at random, by
// "toxicity"). The fault suite needs a deterministic plan by connection
// index ("cut the 3rd connection after 150,000 bytes", seeded random
// offsets), per-connection byte counters to measure what was re-sent, and
// time-based cuts; a small purpose-built proxy gives exact control and keeps
// the dependency tree small. Standard library only.
//
// HTTP: point a client at Proxy.URL() ("http://" + Addr()). A Go http.Client
// reuses connections, so one connection index may carry many requests; set
// Transport.DisableKeepAlives when a test needs one connection per request.
//
// Byte-exact cuts: a cut after N bytes writes exactly N bytes to the
// receiving side and then cuts. With CutClose the receiver reads those N
// bytes and EOF. With CutReset (SO_LINGER 0, so a RST) the proxy first waits
// up to 2 s for the kernel to hand the N bytes over (SIOCOUTQ, Linux only),
// because a RST discards unsent data; elsewhere, or if the receiver does not
// read, it may see fewer than N, as on a real reset. Time-based and manual
// cuts do not wait: data in flight is lost, as on a real link.
package faultnet
