// Package care is the shared kernel of countycare: the error codes every
// package returns, the roles and the acting user (Actor), and the few value
// types (dates, county codes) that all capabilities share.
//
// It imports nothing but the standard library, and no other countycare
// package imports a driver through it.
package care
