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

/// What went wrong on a device outside any error scope: a lost device (driver reset, GPU
/// removed, `destroy`) or an error wgpu could not return to a caller. Recorded by callbacks,
/// reported by the backend at its next step, instead of wgpu's default of panicking.
#[derive(Default)]
pub struct DeviceHealth {
    lost: std::sync::Mutex<Option<String>>,
    errors: std::sync::Mutex<Vec<String>>,
}

impl DeviceHealth {
    /// Why the device was lost, if it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().map_or(None, |l| l.clone())
    }

    /// The first error reported outside an error scope, if any.
    pub fn first_error(&self) -> Option<String> {
        self.errors.lock().ok().and_then(|e| e.first().cloned())
    }
}

/// A device ready for work, with the adapter it came from.
pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub summary: AdapterSummary,
    pub optional: OptionalFeatures,
    pub health: Arc<DeviceHealth>,
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
    let health = Arc::new(DeviceHealth::default());
    let lost = Arc::clone(&health);
    device.set_device_lost_callback(move |reason, message| {
        if let Ok(mut l) = lost.lost.lock() {
            *l = Some(format!("{reason:?}: {message}"));
        }
    });
    let errors = Arc::clone(&health);
    device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
        if let Ok(mut e) = errors.errors.lock() {
            e.push(error.to_string());
        }
    }));
    Ok(Arc::new(GpuContext {
        adapter,
        device,
        queue,
        summary,
        optional,
        health,
        pipelines: OnceLock::new(),
    }))
}

/// Memory the network may fill on this adapter [bytes]: device memory, or for a software
/// adapter (whose "device" memory is the host's) the host's physical memory. `None` when the API
/// does not tell.
pub fn usable_memory(ctx: &GpuContext) -> Option<u64> {
    if ctx.summary.is_software() {
        host_memory_bytes()
    } else {
        device_memory_bytes(&ctx.adapter)
    }
}

/// Physical memory of the host [bytes] (Linux: MemTotal of /proc/meminfo).
pub fn host_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Size of the adapter's largest device-local memory heap [bytes], where the API tells
/// (Vulkan); `None` elsewhere.
pub fn device_memory_bytes(adapter: &wgpu::Adapter) -> Option<u64> {
    #[cfg(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd"
    ))]
    {
        // SAFETY: only reads properties of the physical device; nothing is created or destroyed.
        let hal = unsafe { adapter.as_hal::<wgpu::hal::api::Vulkan>() }?;
        let instance = hal.shared_instance().raw_instance();
        let properties =
            unsafe { instance.get_physical_device_memory_properties(hal.raw_physical_device()) };
        properties
            .memory_heaps
            .iter()
            .take(properties.memory_heap_count as usize)
            .filter(|h| h.flags.contains(ash::vk::MemoryHeapFlags::DEVICE_LOCAL))
            .map(|h| h.size)
            .max()
    }
    #[cfg(not(any(
        windows,
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd"
    )))]
    {
        let _ = adapter;
        None
    }
}

/// Whether the adapter computes WGSL's `fma` fused (one rounding), as the CPU backend's
/// `mul_add` does. WGSL allows either; where it is fused the GPU reproduces the CPU backend bit
/// for bit, elsewhere (Mesa's lavapipe) results agree to rounding. Runs a one-thread kernel.
pub fn fma_is_fused(ctx: &GpuContext) -> Result<bool, String> {
    use wgpu::util::DeviceExt;
    let device = &ctx.device;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("fma probe"),
        source: wgpu::ShaderSource::Wgsl(
            "@group(0) @binding(0) var<storage, read_write> x: array<f32, 4>;
             @compute @workgroup_size(1) fn main() { x[3] = fma(x[0], x[1], x[2]); }"
                .into(),
        ),
    });
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("fma probe"),
        entries: &[wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only: false },
                has_dynamic_offset: false,
                min_binding_size: std::num::NonZeroU64::new(16),
            },
            count: None,
        }],
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("fma probe"),
        layout: Some(
            &device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("fma probe"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            }),
        ),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions::default(),
        cache: None,
    });
    // (1 + e)(1 - e/2) - 1 = e/2 - e^2/2: fused keeps it, unfused rounds the product to 1 + e/2
    // and then to 1, giving 0.
    let a = 1.0f32 + f32::EPSILON;
    let b = 1.0f32 - f32::EPSILON / 2.0;
    let data = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("fma probe"),
        contents: bytemuck::cast_slice(&[a, b, -1.0f32, 0.0]),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("fma probe readback"),
        size: 16,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("fma probe"),
        layout: &layout,
        entries: &[wgpu::BindGroupEntry {
            binding: 0,
            resource: data.as_entire_binding(),
        }],
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("fma probe"),
    });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }
    encoder.copy_buffer_to_buffer(&data, 0, &readback, 0, 16);
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(e.to_string());
    }
    let submission = ctx.queue.submit([encoder.finish()]);
    readback.map_async(wgpu::MapMode::Read, .., |_| {});
    device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: None,
        })
        .map_err(|e| e.to_string())?;
    let view = readback
        .slice(..)
        .get_mapped_range()
        .map_err(|e| e.to_string())?;
    let result: f32 = bytemuck::pod_read_unaligned(&view[12..16]);
    Ok(result == a.mul_add(b, -1.0))
}
