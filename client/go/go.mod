module credd.dev/go

go 1.21
