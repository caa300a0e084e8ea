//! Schemas of the `[key, value]` pairs the list queries answer with (`[escrow, delegation]`
//! and the like): utoipa takes no tuple as a response body and describes a two-field tuple
//! struct as an array of objects, so each pair is a schema written here — an array of
//! exactly the two, each a reference to its own component. Documentation only: the
//! handlers answer the tuples themselves.

use std::borrow::Cow;

use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, Ref, Schema};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// A reference to `T`'s component.
fn element<T: ToSchema>() -> Schema {
    AllOfBuilder::new().item(Ref::from_schema_name(T::name())).into()
}

/// `T`'s component and every one it refers to.
fn register<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

macro_rules! pair {
    ($name:ident, $first:ty, $second:ty, $doc:literal) => {
        #[doc = $doc]
        pub(crate) struct $name;

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                register::<$first>(schemas);
                register::<$second>(schemas);
            }
        }

        // utoipa 5 derives `PartialSchema` from `ComposeSchema`, which its generic
        // `StateResponse<T>` asks of `T`.
        impl utoipa::__dev::ComposeSchema for $name {
            fn compose(_: Vec<RefOr<Schema>>) -> RefOr<Schema> {
                ArrayBuilder::new()
                    .prefix_items([element::<$first>(), element::<$second>()])
                    .min_items(Some(2))
                    .max_items(Some(2))
                    .description(Some($doc))
                    .into()
            }
        }
    };
}

pair!(
    DelegationPair,
    atoll_types::Address,
    atoll_consensus::staking::Delegation,
    "`[address, delegation]`: the escrow (delegations of an account) or the delegator \
     (delegators of an escrow), and the delegation"
);
pair!(
    DebondingPair,
    atoll_types::Address,
    atoll_consensus::staking::DebondingDelegation,
    "`[escrow, debonding delegation]`"
);
pair!(VotePair, atoll_types::Address, atoll_consensus::governance::Vote, "`[voter, vote]`");
