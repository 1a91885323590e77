module soll.dev/localcluster

go 1.26
