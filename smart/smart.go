// Package smart registers the systems that read the county's records
// through FHIR without a person signing in — the provincial health
// information platform, a hospital's HIS, a lab — and authorises them the
// way HL7 SMART App Launch 2.x "Backend Services" describes
// (https://hl7.org/fhir/smart-app-launch/backend-services.html): an
// administrator registers a system client (系统客户端) with its public
// keys and the scopes it may hold, bound to one institution's subtree or
// to county-wide read; the client then proves who it is with a JWT signed
// by its private key (RS384 or ES384), exchanges it at the token endpoint
// for a short-lived access token, and reads with that token.
//
// The JOSE work (parsing keys and JWS, checking signatures) is done with
// github.com/go-jose/go-jose/v4: it parses a JWKS and a PEM key itself, and
// it is told the only algorithms it may accept when it parses, so an
// assertion signed with "none" or with HS256 over a public key is refused
// before any signature is checked.
//
// Private keys never reach the platform; public keys, assertions and
// access tokens are never logged (an access token is stored as its
// SHA-256 only).
package smart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"

	"countycare/audit"
	"countycare/care"
)

// RoleSystem is the role of an actor that is a system client. It is not
// one of care.Roles: no account can be given it, and access.ScopeFor gives
// it no residents, so the user routes refuse it; routes for system
// clients name it in their policy and scope their reads by the client's
// binding (Client.InstitutionID).
const RoleSystem care.Role = "system_client"

// Audit actions.
const (
	ActClientRegister   = "smart.client.register"
	ActClientDeactivate = "smart.client.deactivate"
	ActToken            = "smart.token" // a token issued or refused
)

// Client is a registered system client.
type Client struct {
	ID            int64
	ClientID      string // what the client puts in iss and sub
	Name          string
	CountyCode    string
	InstitutionID int64    // 0: county-wide read
	Scopes        []string // the scopes it may be granted (system/Patient.read …)
	JWKS          string   // its public keys as a JWK Set (JSON)
	Active        bool
	CreatedBy     int64
	CreatedAt     time.Time
}

// Actor is the actor a client's requests run as: AccountID is the
// client's row negated (never an account's), Username "system:<client_id>"
// so that every audit row names the client.
func (c *Client) Actor() care.Actor {
	return care.Actor{AccountID: -c.ID, Username: "system:" + c.ClientID, Name: c.Name, Role: RoleSystem,
		InstitutionID: c.InstitutionID, CountyCode: c.CountyCode}
}

// Token is an issued access token, as stored: its hash, never itself.
type Token struct {
	Hash      string // hex SHA-256 of the token
	ClientID  string
	Scopes    []string
	ExpiresAt time.Time
}

// Store is what Service needs of the database.
type Store interface {
	// CreateSystemClient stores c and sets c.ID. Errors: ECONFLICT when
	// the client_id is taken.
	CreateSystemClient(ctx context.Context, c *Client, ev audit.Event) error
	// SystemClients lists a county's clients, newest first.
	SystemClients(ctx context.Context, county string) ([]Client, error)
	// SystemClient returns a client by client_id. Errors: ENOTFOUND.
	SystemClient(ctx context.Context, clientID string) (*Client, error)
	// DeactivateSystemClient marks a county's client inactive and deletes
	// its tokens. Errors: ENOTFOUND.
	DeactivateSystemClient(ctx context.Context, county string, id int64, ev audit.Event) error
	// UseAssertionID records that the assertion jti of clientID was used,
	// kept until expires (and forgets the expired ones). Errors: ECONFLICT
	// when it was used before.
	UseAssertionID(ctx context.Context, clientID, jti string, expires, now time.Time) error
	// SaveAccessToken stores an issued token.
	SaveAccessToken(ctx context.Context, t *Token) error
	// AccessToken returns the token whose hash is hash, if not expired at
	// now. Errors: ENOTFOUND.
	AccessToken(ctx context.Context, hash string, now time.Time) (*Token, error)
}

// Config is the service's configuration (serve flags).
type Config struct {
	// TokenTTL is how long an access token lives (SMART recommends at most
	// five minutes; the default here is five).
	TokenTTL time.Duration
	// MaxAssertionTTL is the longest exp − now an assertion may state: the
	// spec's five minutes.
	MaxAssertionTTL time.Duration
}

// DefaultConfig is the configuration serve starts with.
func DefaultConfig() Config {
	return Config{TokenTTL: 5 * time.Minute, MaxAssertionTTL: 5 * time.Minute}
}

// Service registers clients, issues tokens and authenticates requests.
type Service struct {
	Store Store
	Audit audit.Recorder
	Cfg   Config
	Now   func() time.Time
}

var clientIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$`)

// Registration is what an administrator submits.
type Registration struct {
	ClientID      string
	Name          string
	InstitutionID int64 // 0: county-wide read
	Scopes        string
	Keys          string // a JWK Set, one JWK, or PEM public keys
}

// InstitutionCheck reports whether id is an institution of county.
type InstitutionCheck func(ctx context.Context, county string, id int64) bool

// Register validates reg and stores the client, for an administrator of
// the county. Errors: EFORBIDDEN for anyone else; EINVALID naming each bad
// field (client_id, name, institution, scopes, keys); ECONFLICT when the
// client_id is taken.
func (s *Service) Register(ctx context.Context, a care.Actor, reg Registration, inCounty InstitutionCheck) (*Client, error) {
	if a.Role != care.RoleAdmin {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	var fe []care.FieldError
	reg.ClientID, reg.Name = strings.TrimSpace(reg.ClientID), strings.TrimSpace(reg.Name)
	if !clientIDRe.MatchString(reg.ClientID) {
		fe = append(fe, care.FieldError{Field: "client_id", Key: "smart.client_id_invalid"})
	}
	if reg.Name == "" || len([]rune(reg.Name)) > 100 {
		fe = append(fe, care.FieldError{Field: "name", Key: "smart.name_invalid"})
	}
	if reg.InstitutionID < 0 || (reg.InstitutionID > 0 && !inCounty(ctx, a.CountyCode, reg.InstitutionID)) {
		fe = append(fe, care.FieldError{Field: "institution", Key: "smart.institution_invalid"})
	}
	scopes, ok := ParseScopes(reg.Scopes)
	if !ok || len(scopes) == 0 {
		fe = append(fe, care.FieldError{Field: "scopes", Key: "smart.scopes_invalid"})
	}
	jwks, err := ParseKeys(reg.Keys)
	if err != nil {
		fe = append(fe, care.FieldError{Field: "keys", Key: "smart.keys_invalid"})
	}
	if len(fe) > 0 {
		return nil, care.Invalid(fe)
	}
	c := &Client{ClientID: reg.ClientID, Name: reg.Name, CountyCode: a.CountyCode, InstitutionID: reg.InstitutionID,
		Scopes: scopes, JWKS: jwks, Active: true, CreatedBy: a.AccountID, CreatedAt: s.Now().UTC()}
	ev := audit.New(ctx, a, ActClientRegister, 0)
	ev.Detail = c.ClientID + " " + strings.Join(scopes, " ")
	if err := s.Store.CreateSystemClient(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

// List returns the clients of the administrator's county. Errors:
// EFORBIDDEN for anyone but an administrator.
func (s *Service) List(ctx context.Context, a care.Actor) ([]Client, error) {
	if a.Role != care.RoleAdmin {
		return nil, care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	return s.Store.SystemClients(ctx, a.CountyCode)
}

// Deactivate stops a client: its tokens are deleted and it gets no more.
// Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) Deactivate(ctx context.Context, a care.Actor, id int64) error {
	if a.Role != care.RoleAdmin {
		return care.Errorf(care.EFORBIDDEN, "error.forbidden")
	}
	ev := audit.New(ctx, a, ActClientDeactivate, 0)
	ev.Detail = "client " + itoa(id)
	return s.Store.DeactivateSystemClient(ctx, a.CountyCode, id, ev)
}

// Grant is an issued access token as the token endpoint answers it.
type Grant struct {
	AccessToken string
	ExpiresIn   int // seconds
	Scope       string
}

// TokenError is a refusal of the token endpoint: the OAuth 2.0 error code
// (RFC 6749 §5.2: invalid_client, invalid_grant, invalid_scope,
// invalid_request, unsupported_grant_type) and a description for the
// client's developer. It carries no secret.
type TokenError struct {
	Code, Description string
}

func (e *TokenError) Error() string { return "smart: " + e.Code + ": " + e.Description }

// TokenRequest is the form of POST /fhir/auth/token.
type TokenRequest struct {
	GrantType, AssertionType, Assertion, Scope string
	TokenURL                                   string // the absolute URL the assertion's aud must name
}

// AssertionType is the only client_assertion_type accepted.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// IssueToken checks a client_credentials request with a signed JWT
// assertion (Backend Services §"Obtaining an access token") and issues a
// token for the requested scopes the client is registered for. Every
// outcome is an audit row naming the client (or the claimed client_id).
// Errors: *TokenError for a refusal; others are internal.
func (s *Service) IssueToken(ctx context.Context, req TokenRequest) (*Grant, error) {
	now := s.Now()
	refuse := func(c care.Actor, te *TokenError) (*Grant, error) {
		ev := audit.New(ctx, c, ActToken, 0)
		ev.Outcome, ev.Detail = audit.OutcomeDenied, te.Code+": "+te.Description
		s.Audit.Record(ctx, ev)
		return nil, te
	}
	anon := care.Actor{Role: RoleSystem}
	if req.GrantType != "client_credentials" {
		return refuse(anon, &TokenError{"unsupported_grant_type", "grant_type must be client_credentials"})
	}
	if req.AssertionType != AssertionType {
		return refuse(anon, &TokenError{"invalid_request", "client_assertion_type must be " + AssertionType})
	}
	claimed, err := assertionIssuer(req.Assertion)
	if err != nil {
		return refuse(anon, &TokenError{"invalid_client", "client_assertion is not a JWS signed with RS384 or ES384"})
	}
	anon.Username = "system:" + truncate(claimed, 64)
	c, err := s.Store.SystemClient(ctx, claimed)
	if care.IsCode(err, care.ENOTFOUND) || (err == nil && !c.Active) {
		return refuse(anon, &TokenError{"invalid_client", "unknown or inactive client"})
	} else if err != nil {
		return nil, err
	}
	actor := c.Actor()
	cl, te := VerifyAssertion(req.Assertion, c, req.TokenURL, now, s.Cfg.MaxAssertionTTL)
	if te != nil {
		return refuse(actor, te)
	}
	granted, te := grantScopes(req.Scope, c.Scopes)
	if te != nil {
		return refuse(actor, te)
	}
	if err := s.Store.UseAssertionID(ctx, c.ClientID, cl.ID, cl.Expiry.Time(), now); care.IsCode(err, care.ECONFLICT) {
		return refuse(actor, &TokenError{"invalid_grant", "jti was used before"})
	} else if err != nil {
		return nil, err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := base64.RawURLEncoding.EncodeToString(raw)
	t := &Token{Hash: HashToken(tok), ClientID: c.ClientID, Scopes: granted, ExpiresAt: now.Add(s.Cfg.TokenTTL).UTC()}
	if err := s.Store.SaveAccessToken(ctx, t); err != nil {
		return nil, err
	}
	ev := audit.New(ctx, actor, ActToken, 0)
	ev.Detail = strings.Join(granted, " ")
	s.Audit.Record(ctx, ev)
	return &Grant{AccessToken: tok, ExpiresIn: int(s.Cfg.TokenTTL / time.Second), Scope: strings.Join(granted, " ")}, nil
}

// HashToken is how a token is stored and looked up.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// Session is an authenticated system client request.
type Session struct {
	Client *Client
	Scopes Scopes
}

// Authenticate returns the client and granted scopes of a bearer token.
// Errors: EUNAUTHORIZED for an unknown or expired token or an inactive
// client.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 200 {
		return nil, care.Errorf(care.EUNAUTHORIZED, "auth.required")
	}
	t, err := s.Store.AccessToken(ctx, HashToken(token), s.Now())
	if care.IsCode(err, care.ENOTFOUND) {
		return nil, care.Errorf(care.EUNAUTHORIZED, "auth.required")
	} else if err != nil {
		return nil, err
	}
	c, err := s.Store.SystemClient(ctx, t.ClientID)
	if care.IsCode(err, care.ENOTFOUND) || (err == nil && !c.Active) {
		return nil, care.Errorf(care.EUNAUTHORIZED, "auth.required")
	} else if err != nil {
		return nil, err
	}
	return &Session{Client: c, Scopes: Scopes(t.Scopes)}, nil
}

func grantScopes(requested string, registered []string) ([]string, *TokenError) {
	req, ok := ParseScopes(requested)
	if !ok || len(req) == 0 {
		return nil, &TokenError{"invalid_scope", "scope must name system/<Type>.read (or .rs) scopes"}
	}
	var out []string
	for _, sc := range req {
		if Scopes(registered).covers(sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, &TokenError{"invalid_scope", "none of the requested scopes is registered for this client"}
	}
	return out, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type sessionKey struct{}

// WithSession returns ctx carrying an authenticated client's session.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionOf returns the system client session in ctx, or nil.
func SessionOf(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}
