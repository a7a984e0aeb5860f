package api

// Health is the answer of GET /healthz, which needs no identity: that the
// daemon serves, and which build of ditto it runs (ditto doctor compares
// it with the CLI's).
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}
