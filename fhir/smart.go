package fhir

import (
	"encoding/json"
	"errors"
	"net/http"

	"countycare/smart"
	"countycare/web"
)

// SMART Backend Services (HL7 SMART App Launch 2.x): the discovery
// document and the token endpoint. Clients are registered by an
// administrator (/admin/fhir-clients, package smart); a client's bearer
// token is authenticated by the web server's wrapper for every API route.

// TokenPath is the token endpoint under /fhir: the aud of assertions.
const TokenPath = "/auth/token"

// smartConfiguration: GET /fhir/.well-known/smart-configuration.
func (s *Server) smartConfiguration(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                s.base(r),
		"token_endpoint":                        s.base(r) + TokenPath,
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"grant_types_supported":                            []string{"client_credentials"},
		"scopes_supported":                                 []string{"system/*.read", "system/*.rs", "system/Patient.read", "system/Group.read"},
		"capabilities":                                     []string{"client-confidential-asymmetric", "permission-v1", "permission-v2"},
	})
}

// token: POST /fhir/auth/token (RFC 6749 §4.4 with an RFC 7523 client
// assertion). A refusal is 400 (401 for invalid_client) with the OAuth
// error body, never an OperationOutcome: OAuth clients read error.
func (s *Server) token(w http.ResponseWriter, r *http.Request, rq web.Request) error {
	g, err := s.Systems.IssueToken(r.Context(), smart.TokenRequest{GrantType: r.PostForm.Get("grant_type"),
		AssertionType: r.PostForm.Get("client_assertion_type"), Assertion: r.PostForm.Get("client_assertion"),
		Scope: r.PostForm.Get("scope"), TokenURL: s.base(r) + TokenPath})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	var te *smart.TokenError
	if errors.As(err, &te) {
		status := http.StatusBadRequest
		if te.Code == "invalid_client" {
			status = http.StatusUnauthorized
		}
		w.WriteHeader(status)
		return json.NewEncoder(w).Encode(map[string]string{"error": te.Code, "error_description": te.Description})
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(map[string]any{"access_token": g.AccessToken, "token_type": "bearer", "expires_in": g.ExpiresIn, "scope": g.Scope})
}
