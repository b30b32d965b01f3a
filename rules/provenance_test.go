package rules

import "testing"

func TestPackageDir(t *testing.T) {
	tests := []struct{ path, pkg, project string }{
		{"/p/app/node_modules/a/lib/x.js", "/p/app/node_modules/a", "/p/app"},
		{"/p/app/node_modules/@s/b/package.json", "/p/app/node_modules/@s/b", "/p/app"},
		{"/p/app/node_modules/a/node_modules/c/i.js", "/p/app/node_modules/a/node_modules/c", "/p/app"},
		{"/p/app/node_modules/.cache/x", "", "/p/app"},
		{"/p/app/node_modules/a", "/p/app/node_modules/a", "/p/app"},
		{"/p/app/node_modules/b/build/Release/.deps/p/app/node_modules/b/lib/b.node.d", "/p/app/node_modules/b", "/p/app"},
		{"/p/app/node_modules/@s/b/node_modules/@t/c/x.js", "/p/app/node_modules/@s/b/node_modules/@t/c", "/p/app"},
		{"/usr/lib/python3/site-packages/m/__init__.py", "/usr/lib/python3/site-packages/m", ""},
		{"/p/app/src/index.js", "", ""},
	}
	for _, tt := range tests {
		if got := packageDir(tt.path); got != tt.pkg {
			t.Errorf("packageDir(%q) = %q, want %q", tt.path, got, tt.pkg)
		}
		if got := projectDir(tt.path); got != tt.project {
			t.Errorf("projectDir(%q) = %q, want %q", tt.path, got, tt.project)
		}
	}
}

func TestAuthCredential(t *testing.T) {
	tests := []struct{ value, want string }{
		{"Bearer ghp_x", "ghp_x"},
		{"token ghp_x", "ghp_x"},
		{"Basic eC1hY2Nlc3MtdG9rZW46Z2hwX3g=", "ghp_x"}, // x-access-token:ghp_x
		{"Basic Z2hwX3g6", "ghp_x"},                     // ghp_x:
		{"Digest ghp_x", ""},
		{"Basic !!", ""},
	}
	for _, tt := range tests {
		if got := authCredential(tt.value); got != tt.want {
			t.Errorf("authCredential(%q) = %q, want %q", tt.value, got, tt.want)
		}
	}
}
