package rules

// familyEnv is the part of Env that the behaviour families (download then
// execute, dropped binaries, persistence by install directory) and the
// rule data helpers add. It is embedded in Env; its fields are Env's.
type familyEnv struct {
	// OwnServiceAuth(issuers) returns "uses NAME against HOST, METHOD"
	// when this capture is a read-only HTTP request that carries a token
	// planted as the environment variable NAME, whole, in its one
	// Authorization header, to the HOST that issuers ("NAME host" items)
	// pairs with it, and nothing else planted; else "". See ownuse.go.
	OwnServiceAuth func(issuers []any) string `expr:"OwnServiceAuth"`
}
