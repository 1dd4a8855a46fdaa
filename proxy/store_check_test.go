package proxy_test

import (
	"countycare/proxy"
	"countycare/store"
)

var _ proxy.Repository = (*store.Store)(nil)
