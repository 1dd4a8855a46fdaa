package proxy_test

import (
	"testing"
	"time"

	"countycare/care"
	"countycare/idcard"
	"countycare/proxy"
	"countycare/resident"
	"countycare/store"
)

var _ proxy.Repository = (*store.Store)(nil)

func person(id int64, birth string) *resident.Resident {
	b, _ := care.ParseDate(birth)
	return &resident.Resident{ID: id, Status: resident.StatusActive, BirthDate: b,
		IDNumber: idcard.Make("411723", b.Time(), int(id)%999+1)}
}

// TestCheck: the kind of grant must fit the ward's age from the identity
// number (民法典 第十七条: adults from 18; elders from 65), and the proxy
// must be another, adult person.
func TestCheck(t *testing.T) {
	day, _ := care.ParseDate("2026-12-07")
	child, adult, elder := person(1, "2015-06-01"), person(2, "1985-03-04"), person(3, "1950-01-01")
	justAdult, justMinor := person(4, "2008-12-07"), person(5, "2008-12-08")
	cases := []struct {
		kind        proxy.Kind
		ward, proxy *resident.Resident
		want        string // the first fault's key, "" none
	}{
		{proxy.Guardian, child, adult, ""},
		{proxy.Guardian, justMinor, adult, ""},
		{proxy.Guardian, justAdult, adult, "proxy.guardian_adult"},
		{proxy.Family, elder, adult, ""},
		{proxy.Family, adult, elder, "proxy.family_young"},
		{proxy.Chosen, adult, elder, ""},
		{proxy.Chosen, child, adult, "proxy.chosen_minor"},
		{proxy.Guardian, child, justMinor, "proxy.proxy_minor"},
		{proxy.Chosen, adult, adult, "proxy.self"},
		{"owner", adult, elder, "proxy.kind_invalid"},
	}
	for _, c := range cases {
		got := ""
		if fs := proxy.Check(c.kind, c.ward, c.proxy, day); len(fs) > 0 {
			got = fs[0].Key
		}
		if got != c.want {
			t.Errorf("%s ward %s proxy %s: got %q, want %q", c.kind, c.ward.BirthDate, c.proxy.BirthDate, got, c.want)
		}
	}
}

// TestGuardianExpiry: a guardian's grant ends at midnight (China) of the
// ward's 18th birthday; other grants do not end by themselves.
func TestGuardianExpiry(t *testing.T) {
	child := person(1, "2015-06-01")
	got := proxy.Expiry(proxy.Guardian, child)
	if want := time.Date(2033, 6, 1, 0, 0, 0, 0, care.Shanghai); !got.Equal(want) {
		t.Errorf("guardian grant ends %v, want %v", got, want)
	}
	g := proxy.Grant{ExpiresAt: got}
	if !g.Live(got.Add(-time.Second)) || g.Live(got) {
		t.Error("the grant must hold until the birthday and not after")
	}
	if !proxy.Expiry(proxy.Family, child).IsZero() {
		t.Error("a family grant has an end")
	}
}
