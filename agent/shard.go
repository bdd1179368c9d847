package agent

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// resolveShard validates the sharding options and, for a negative index,
// derives it from the host name's trailing number (ferry-2 -> 2), which is
// how a StatefulSet names its pods.
func resolveShard(o *Options) error {
	if o.ClusterShards <= 1 {
		o.ClusterShards, o.ClusterShardIndex = 1, 0
		return nil
	}
	if o.ClusterShardIndex < 0 {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--cluster.shard-index=-1: host name: %w", err)
		}
		i, err := ordinal(host)
		if err != nil {
			return fmt.Errorf("--cluster.shard-index=-1: %w", err)
		}
		o.ClusterShardIndex = i
	}
	if o.ClusterShardIndex >= o.ClusterShards {
		return fmt.Errorf("--cluster.shard-index=%d is not below --cluster.shards=%d", o.ClusterShardIndex, o.ClusterShards)
	}
	return nil
}

// ordinal returns the number after the last '-' of a host name.
func ordinal(host string) (int, error) {
	i := strings.LastIndexByte(host, '-')
	n, err := strconv.Atoi(host[i+1:])
	if i < 0 || err != nil || n < 0 {
		return 0, fmt.Errorf("host name %q does not end in -<number>", host)
	}
	return n, nil
}
