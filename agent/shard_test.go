package agent

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestShardOptions(t *testing.T) {
	n, err := ordinal("ferry-12")
	require.NoError(t, err)
	require.Equal(t, 12, n)
	n, err = ordinal("ferry-sharded-0")
	require.NoError(t, err)
	require.Equal(t, 0, n)
	for _, bad := range []string{"ferry", "ferry-", "ferry-x", "-"} {
		_, err := ordinal(bad)
		require.Error(t, err, bad)
	}
	o := Options{ClusterShards: 3, ClusterShardIndex: 3}
	require.ErrorContains(t, resolveShard(&o), "not below")
	o = Options{ClusterShards: 0, ClusterShardIndex: 5}
	require.NoError(t, resolveShard(&o))
	require.Equal(t, Options{ClusterShards: 1}, o)
}
