//! Unknown methods answered as geth answers them: `-32601` and "the method … does not
//! exist/is not available". Clients match that wording (ethers falls back to other methods
//! on it); jsonrpsee alone would say "Method not found".

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use jsonrpsee::core::middleware::{Batch, BatchEntry, BatchEntryErr, Notification, RpcServiceT};
use jsonrpsee::types::{ErrorObject, Request};
use jsonrpsee::MethodResponse;

/// The JSON-RPC code for a method that does not exist.
pub const METHOD_NOT_FOUND: i32 = -32601;

/// The error geth answers for `method`.
pub fn method_not_found(method: &str) -> ErrorObject<'static> {
    ErrorObject::owned(
        METHOD_NOT_FOUND,
        format!("the method {method} does not exist/is not available"),
        None::<()>,
    )
}

/// The RPC middleware that answers calls to methods outside `known` itself, alone or in a
/// batch; everything else goes to the methods.
#[derive(Clone, Debug)]
pub struct GethUnknownMethods<S> {
    known: Arc<HashSet<&'static str>>,
    service: S,
}

impl<S> GethUnknownMethods<S> {
    /// Wraps `service`, whose methods are `known`.
    pub fn new(known: Arc<HashSet<&'static str>>, service: S) -> Self {
        Self { known, service }
    }
}

impl<S> RpcServiceT for GethUnknownMethods<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse> + Send + Sync + Clone + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let unknown = !self.known.contains(request.method_name());
        let service = self.service.clone();
        async move {
            if unknown {
                let error = method_not_found(request.method_name());
                MethodResponse::error(request.id, error)
            } else {
                service.call(request).await
            }
        }
    }

    fn batch<'a>(
        &self,
        mut batch: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        // The methods answer a batch's calls without coming back through `call`: unknown
        // ones become entries that already failed, which the batch answers in place.
        for entry in batch.iter_mut() {
            let Ok(BatchEntry::Call(request)) = entry else { continue };
            if !self.known.contains(request.method_name()) {
                let error = method_not_found(request.method_name());
                *entry = Err(BatchEntryErr::new(request.id.clone(), error));
            }
        }
        self.service.batch(batch)
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.service.notification(notification)
    }
}
