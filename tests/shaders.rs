//! Every shader parses and validates with naga, without a GPU, and every struct shared with Rust
//! has the size of its Rust twin.

use lifsim::backend::gpu::layout::struct_sizes;
use lifsim::backend::gpu::pipelines::{kernel_source, KERNELS};

fn module(name: &str) -> naga::Module {
    let source = kernel_source(name);
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{name}.wgsl does not parse:\n{}", e.emit_to_string(&source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| {
        panic!(
            "{name}.wgsl does not validate:\n{}",
            e.emit_to_string(&source)
        )
    });
    module
}

#[test]
fn every_shader_validates_without_optional_capabilities() {
    for (name, _, _) in KERNELS {
        module(name);
    }
}

#[test]
fn shared_structs_match_their_rust_twins() {
    let mut checked = Vec::new();
    for (name, _, _) in KERNELS {
        let m = module(name);
        for (_, ty) in m.types.iter() {
            let (Some(type_name), naga::TypeInner::Struct { span, .. }) = (&ty.name, &ty.inner)
            else {
                continue;
            };
            if let Some((_, size)) = struct_sizes().iter().find(|(n, _)| n == type_name) {
                assert_eq!(
                    *span as usize, *size,
                    "struct {type_name} in {name}.wgsl: WGSL size vs Rust size"
                );
                checked.push(type_name.clone());
            }
        }
    }
    for (name, _) in struct_sizes() {
        assert!(
            checked.iter().any(|c| c == name),
            "struct {name} not found in any shader"
        );
    }
}
