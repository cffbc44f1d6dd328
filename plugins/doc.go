// Package plugins hosts out-of-process stores and API families over
// hashicorp/go-plugin and adapts them to the core's Go interfaces.
package plugins
