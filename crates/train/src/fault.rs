//! Planted device failures, to test that a run survives one as it survives a real one: with
//! `MLPC_DEVICE_FAULT=out-of-memory@E` (or `device-lost@E`) the run fails as the backend fails
//! when a GPU runs out of memory (or is lost), when epoch `E` (1-based) starts, after epoch
//! `E - 1`'s checkpoint is written: a panic carrying the backend's words, which the CLI reports
//! as one error with a hint (status 1), the last whole epoch's checkpoint kept for `--resume`.
//! A real failure strikes within an epoch; what it leaves on disk is the same. A value that is
//! not one of these plants nothing.

/// The variable that plants a failure.
pub const VARIABLE: &str = "MLPC_DEVICE_FAULT";

/// A failure a device can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Out of memory: an allocation refused.
    OutOfMemory,
    /// The device lost (a driver reset, a GPU removed).
    DeviceLost,
}

impl Fault {
    /// Every fault, each named in [`Fault::name`]'s exhaustive match.
    pub const ALL: [Fault; 2] = [Fault::OutOfMemory, Fault::DeviceLost];

    /// The fault's name in [`VARIABLE`].
    pub fn name(self) -> &'static str {
        match self {
            Fault::OutOfMemory => "out-of-memory",
            Fault::DeviceLost => "device-lost",
        }
    }

    /// What the backend says when it happens (cubecl's and wgpu's words).
    fn message(self) -> &'static str {
        match self {
            Fault::OutOfMemory => "Unable to allocate: OutOfMemory",
            Fault::DeviceLost => "wgpu error: Device lost",
        }
    }
}

/// The planted failure and its 1-based epoch, read from `text` (`out-of-memory@3`).
pub fn parse(text: &str) -> Option<(Fault, usize)> {
    let (name, epoch) = text.trim().split_once('@')?;
    let fault = Fault::ALL.into_iter().find(|fault| fault.name() == name)?;
    Some((fault, epoch.parse().ok().filter(|&epoch| epoch >= 1)?))
}

/// Fails as the device would if [`VARIABLE`] plants a failure at `epoch` (1-based).
pub fn strike(epoch: usize) {
    let Some((fault, at)) = std::env::var(VARIABLE).ok().as_deref().and_then(parse) else {
        return;
    };
    if at == epoch {
        panic!("{} (planted by {VARIABLE})", fault.message());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_failures_read_as_written() {
        assert_eq!(parse("out-of-memory@3"), Some((Fault::OutOfMemory, 3)));
        assert_eq!(parse("device-lost@1"), Some((Fault::DeviceLost, 1)));
        assert_eq!(parse("device-lost@0"), None);
        assert_eq!(parse("out-of-memory"), None);
        assert_eq!(parse("melted@2"), None);
    }
}
