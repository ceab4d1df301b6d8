package config

// WebRTCBatch holds webrtc.batch_io, a key of the webrtc section.
type WebRTCBatch struct {
	// BatchIO sends and receives on the shared ICE UDP port (udp_port) in
	// batches, one sendmmsg/recvmmsg system call for many datagrams
	// (Linux). Off by default: on the project's 2-core machines the kernel's
	// work per datagram, not the number of system calls, sets the cost, and
	// batching measured no cheaper (README, "Large rooms").
	BatchIO bool `yaml:"batch_io"`
}
