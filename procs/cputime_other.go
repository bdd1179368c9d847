//go:build !unix

package procs

import (
	"errors"
	"time"
)

func processCPUTime() (time.Duration, error) {
	return 0, errors.New("not measured on this platform")
}
