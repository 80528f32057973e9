-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as POSTGRES_USER:
-- one database per ferrochain node of compose.yaml (a chain store belongs to one node).
CREATE DATABASE node1;
CREATE DATABASE node2;
CREATE DATABASE node3;
