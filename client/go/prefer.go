package credd

import (
	"context"
	"strconv"
	"time"
)

// answerMargin is what a Prefer: wait leaves of the call's own time for the answer's way back.
const answerMargin = 2 * time.Second

// preferWait is the Prefer header (RFC 7240) telling the daemon how long a call waits for its
// answer: whole seconds, floor(min(the context's time left, the client's timeout) - 2 s), never
// below 0. The daemon waits no longer than that for a refresh (or the keyring), so a slow
// token endpoint gets refresh_failed to a call still listening, not after it gave up.
func preferWait(ctx context.Context, timeout time.Duration) string {
	left := timeout
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < left {
		left = time.Until(deadline)
	}
	seconds := int64(0)
	if left > answerMargin {
		seconds = int64((left - answerMargin) / time.Second)
	}
	return "wait=" + strconv.FormatInt(seconds, 10)
}
