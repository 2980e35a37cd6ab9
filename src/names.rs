//! Closed sets of values known by name on the command line, in JSON and in the page (methods,
//! colormaps, preprocessing recipes): one `name()` per type, and the traits derived from it here.

/// Implements `FromStr` (the error lists the valid names), `Display`, and the conversions serde
/// uses (`#[serde(into = "&'static str", try_from = "String")]`) for a type with `ALL` and `name()`.
macro_rules! named {
    ($type:ty, $what:literal) => {
        impl std::str::FromStr for $type {
            type Err = crate::Error;

            fn from_str(s: &str) -> crate::Result<Self> {
                <$type>::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    let valid: Vec<&str> = <$type>::ALL.iter().map(|v| v.name()).collect();
                    crate::Error::Input(format!("unknown {} `{s}`; valid {}s are: {}", $what, $what, valid.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl From<$type> for &'static str {
            fn from(value: $type) -> Self {
                value.name()
            }
        }

        impl TryFrom<String> for $type {
            type Error = crate::Error;

            fn try_from(s: String) -> crate::Result<Self> {
                s.parse()
            }
        }
    };
}

pub(crate) use named;
