//! Getting a device: adapter discovery, limits and optional features. Kept apart from the work
//! done with a device so that tests and tools can hand in their own (`GpuContext`).

use std::sync::{Arc, OnceLock};

use super::pipelines::Pipelines;

/// Environment variable that turns "no GPU adapter" from a skip into an error (tests, CI).
pub const REQUIRE_GPU_ENV: &str = "LIFSIM_REQUIRE_GPU";

/// Whether the environment demands a GPU adapter (`LIFSIM_REQUIRE_GPU=1`).
pub fn gpu_required() -> bool {
    std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "no GPU adapter found (wgpu looked for Vulkan, Metal, DX12 and GL). Without a GPU, \
         install a software Vulkan driver (Debian/Ubuntu: apt-get install mesa-vulkan-drivers) \
         or use --backend cpu"
    )]
    NoAdapter,
    #[error("the GPU adapter `{adapter}` refused to create a device: {reason}")]
    RequestDevice { adapter: String, reason: String },
}

/// Optional features that lifsim uses when the adapter has them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OptionalFeatures {
    /// GPU-side timing of submissions (`lifsim bench`); without it, wall-clock time is reported.
    pub timestamp_query: bool,
}

/// One adapter as `lifsim info` shows it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
}

impl AdapterSummary {
    /// A software rasterizer (Mesa's lavapipe/llvmpipe, WARP, SwiftShader): runs the shaders on
    /// the CPU, slower than the CPU backend.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }
}

/// A device ready for work, with the adapter it came from.
pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub summary: AdapterSummary,
    pub optional: OptionalFeatures,
    /// Compiled on first use (see `GpuBackend::new`).
    pub(super) pipelines: OnceLock<Arc<Pipelines>>,
}

impl GpuContext {
    /// "NVIDIA H100 (Vulkan)", "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, software)".
    pub fn adapter_name(&self) -> String {
        describe(&self.summary)
    }
}

/// Human-readable adapter name and API.
pub fn describe(s: &AdapterSummary) -> String {
    let software = if s.is_software() { ", software" } else { "" };
    format!("{} ({:?}{software})", s.info.name, s.info.backend)
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu finds, best first (discrete, integrated, virtual, software).
pub fn enumerate_adapters() -> Vec<AdapterSummary> {
    let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    let mut summaries: Vec<AdapterSummary> = adapters
        .iter()
        .map(|a| AdapterSummary {
            info: a.get_info(),
            limits: a.limits(),
            features: a.features(),
        })
        .collect();
    summaries.sort_by_key(|s| rank(s.info.device_type));
    summaries
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// The best adapter, if any (without creating a device).
pub fn best_adapter() -> Option<AdapterSummary> {
    enumerate_adapters().into_iter().next()
}

/// Create a device on the best adapter with all the adapter's limits (the defaults cap storage
/// buffers at 128 MiB per binding and 8 per stage).
pub fn request_context() -> Result<Arc<GpuContext>, DeviceError> {
    let instance = instance();
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let adapter = adapters
        .into_iter()
        .min_by_key(|a| rank(a.get_info().device_type))
        .ok_or(DeviceError::NoAdapter)?;
    let summary = AdapterSummary {
        info: adapter.get_info(),
        limits: adapter.limits(),
        features: adapter.features(),
    };
    let optional = OptionalFeatures {
        timestamp_query: summary.features.contains(wgpu::Features::TIMESTAMP_QUERY),
    };
    let mut required_features = wgpu::Features::empty();
    if optional.timestamp_query {
        required_features |= wgpu::Features::TIMESTAMP_QUERY;
    }
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("lifsim"),
        required_features,
        required_limits: summary.limits.clone(),
        experimental_features: wgpu::ExperimentalFeatures::disabled(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    }))
    .map_err(|e| DeviceError::RequestDevice {
        adapter: summary.info.name.clone(),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(GpuContext {
        adapter,
        device,
        queue,
        summary,
        optional,
        pipelines: OnceLock::new(),
    }))
}
