// Package helmreleasecrd only imports helm-controller's API so that its
// module, and everything it needs to type-check, is in go.mod and go.sum.
package helmreleasecrd

import _ "github.com/fluxcd/helm-controller/api/v2"
