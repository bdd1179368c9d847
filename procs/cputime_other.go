//go:build !unix

package procs

import (
	"errors"
	"time"
)

// CPUTime is not measured on this platform.
func CPUTime() (time.Duration, error) {
	return 0, errors.New("not measured on this platform")
}
