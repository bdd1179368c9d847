// Package sender delivers the log to one remote-write destination.
//
// A Sender owns a wal cursor named after its destination. It reads records
// from the cursor's committed position, decodes them (applying external
// labels and write relabeling once per series, not once per sample), and
// hands them to lanes. All records of one stream (one scrape target) go to
// the same lane, and a received batch is split by series hash, so samples of
// a series always travel through one lane, in log order; lanes send in
// parallel. A lane batches up to max_samples_per_send samples or
// batch_send_deadline, never splitting a record that fits in one request, so
// one scrape arrives in one request.
//
// A lane retries a request until it succeeds (5xx, 429 and network errors
// are retried with exponential backoff and jitter, honouring Retry-After),
// or until the destination rejects it for good (other 4xx: the samples are
// counted as failed and logged). Either way the records it carried are
// done, and the cursor is committed past the longest prefix of done records,
// so a restart resumes exactly after what was acknowledged.
//
// Memory is bounded by the samples in flight (queue_config.capacity per
// lane), never by the backlog: the backlog stays in the log.
package sender
