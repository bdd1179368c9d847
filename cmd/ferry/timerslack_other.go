//go:build !linux

package main

import "time"

// applyTimerSlack does nothing: timer slack is a Linux setting.
func applyTimerSlack(time.Duration) error { return nil }
