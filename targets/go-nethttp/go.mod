module rtbench/targets/go-nethttp

go 1.22
