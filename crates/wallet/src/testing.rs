//! Test vectors for other crates' tests (feature `test-utils`): an RSA-1024 key of the seed fork's kind, made with
//! Python `cryptography` 48. Never use it for anything but tests.

/// The test key's public half, PEM (`BEGIN PUBLIC KEY`), as the fork sends it as `senderPK`.
pub const RSA_1024_PUBLIC_PEM: &str = r#"-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDJm2gigf+jimZ0wBhbtqScYrv1
Mv61QNyfSvK1d5epS9ONsTFu5w7pcy6jS+Ob7cYLY0YBVk+BHmhUzja16wzQKR2R
nlj9WrVgmCvZc2IwvSQ6oFNWgdG+TMttTXCz+kZVVqtaNYG8Fn3ZYucTmuad5/0p
+I4O9iVovNSnggh9BQIDAQAB
-----END PUBLIC KEY-----
"#;

/// The test key's private half, PEM (PKCS#8).
pub const RSA_1024_PRIVATE_PEM: &str = r#"-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAMmbaCKB/6OKZnTA
GFu2pJxiu/Uy/rVA3J9K8rV3l6lL042xMW7nDulzLqNL45vtxgtjRgFWT4EeaFTO
NrXrDNApHZGeWP1atWCYK9lzYjC9JDqgU1aB0b5My21NcLP6RlVWq1o1gbwWfdli
5xOa5p3n/Sn4jg72JWi81KeCCH0FAgMBAAECgYACQglSiZ4xWLV5DUW4kT0au0hb
oKyVnxpZdl9thN9f+AdwiNGC6neSScX18j2kW29iZUQ9c5gEXDDS8lROiUllblfL
6UGHzfKYoToyinKfDg0i1zCtjLMvUpI4jMqXktQjvbSoSPkEIamoETREGIVLFugw
sGRsp+Ucs57B1B906QJBAO/WSpEMasaILMLZyW5W9eJJ6j0V+UeC3tT2Hs9LSAUu
HPnhexTXPhLxA9W6irwho77ukXUfeRzC+O/UIiatX0sCQQDXMZCf+pbyNKySEUWB
f+TSamUzRt8wSUjiBQvfZ4+7/ujlXnPVkxaKQDK5ANVTeRSY6nbT9YtGSGtcMCV8
Y9LvAkEAqi89Kj/NZKMsX/d6X7mFMNWSSVZWVNAgnq0mn6GjsUlPdmDxnZA+k+JB
/l8oIucb8lgHDz0OC8KuMkAtG5TakQJBAJFdoxPepH8DBBw73JcJPRrC0pAb7QLi
ToCX5hhJDfhxzwO6lUcN8Gj9ywXcQT79COPvZsvyD94vZ47D21621DMCQDK3cotE
9LTKvVWVfml2AXKUSx5V0hsI21Xc8rJ50JKk/rXIxItumkj9aPc3tHrWik9sMpPq
R6am9iQysl3dxQw=
-----END PRIVATE KEY-----
"#;
