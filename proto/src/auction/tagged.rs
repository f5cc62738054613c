//! One enum, two serde shapes: tagged JSON for browsers, compact bincode for
//! the log and the store.
//!
//! Browsers read `{"type": "bid_accepted", "lot": 7, ...}` best (serde's
//! internally tagged form). bincode cannot decode that form: it needs
//! `deserialize_any`, which a non-self-describing format does not have. So
//! [`dual_tagged_enum!`] declares the enum once and gives it both: when the
//! (de)serializer is human-readable (JSON) the internally tagged form, else
//! serde's default externally tagged form (a variant index for bincode).
//! Variants must be unit or struct-like (`Name { field: Type }`).

/// Declare an enum serialized internally tagged by `tag` in human-readable
/// formats and externally tagged in binary ones. See the module docs.
/// `#[tag = "type", deny_unknown_fields]` makes the JSON form refuse fields
/// it does not know (for what clients send: a sale's `mode`); the others
/// stay lenient so a client reading a newer node's events still can.
macro_rules! dual_tagged_enum {
    (
        #[tag = $tag:literal $(, $strict:ident)?]
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({
                    $( $(#[$fmeta:meta])* $field:ident : $fty:ty ),* $(,)?
                })?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(remote = "Self")]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant $({ $( $(#[$fmeta])* $field : $fty ),* })?
            ),*
        }

        const _: () = {
            #[derive(serde::Serialize)]
            #[serde(tag = $tag, rename_all = "snake_case")]
            #[allow(dead_code)]
            enum Borrowed<'a> {
                $( $variant $({ $( $field : &'a $fty ),* })? , )*
                #[serde(skip)]
                __Unused(std::marker::PhantomData<&'a ()>),
            }

            #[derive(serde::Deserialize)]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            #[serde(tag = $tag, rename_all = "snake_case" $(, $strict)?)]
            enum Owned {
                $( $variant $({ $( $field : $fty ),* })? ),*
            }

            // The JSON shape is `Owned`'s, so its schema is the type's.
            #[cfg(feature = "openapi")]
            impl utoipa::PartialSchema for $name {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    <Owned as utoipa::PartialSchema>::schema()
                }
            }

            #[cfg(feature = "openapi")]
            impl utoipa::ToSchema for $name {
                fn name() -> std::borrow::Cow<'static, str> {
                    std::borrow::Cow::Borrowed(stringify!($name))
                }
                fn schemas(
                    out: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
                ) {
                    <Owned as utoipa::ToSchema>::schemas(out)
                }
            }

            impl serde::Serialize for $name {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    if s.is_human_readable() {
                        let b = match self {
                            $( $name::$variant $({ $($field),* })? => Borrowed::$variant $({ $($field),* })? ),*
                        };
                        serde::Serialize::serialize(&b, s)
                    } else {
                        $name::serialize(self, s)
                    }
                }
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    if d.is_human_readable() {
                        let o = <Owned as serde::Deserialize>::deserialize(d)?;
                        Ok(match o {
                            $( Owned::$variant $({ $($field),* })? => $name::$variant $({ $($field),* })? ),*
                        })
                    } else {
                        $name::deserialize(d)
                    }
                }
            }
        };
    };
}
