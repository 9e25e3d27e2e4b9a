//! The few DOM operations the attention views need: painting a matrix into a canvas (now, or
//! in the next frames within a time budget), moving keyboard focus, and scrolling a box to
//! reveal an item.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::view_model::attention::colour::{heat_rgba, max_value};
use crate::view_model::attention::geometry::reveal_scroll;

/// The canvas's 2D context, kept in memory (`willReadFrequently`): these canvases are small and
/// written from the CPU with `putImageData`; a GPU-backed one each became a composited layer, and
/// with a few hundred of them (model view, neuron view) the browser spent 20–40 ms a frame
/// layering them.
pub fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"willReadFrequently".into(), &true.into()).ok()?;
    canvas.get_context_with_context_options("2d", &options).ok()??.dyn_into().ok()
}

/// Paints a `t × t` matrix into a canvas of `t × t` pixels (CSS scales it), viridis from 0 to
/// the matrix's largest value.
pub fn paint(canvas: &HtmlCanvasElement, m: &[f32], t: usize) {
    if t == 0 || m.len() != t * t {
        return;
    }
    // Setting a size, even the same one, clears and reallocates the canvas: only when it changes.
    if canvas.width() != t as u32 || canvas.height() != t as u32 {
        canvas.set_width(t as u32);
        canvas.set_height(t as u32);
    }
    let Some(ctx) = context_2d(canvas) else { return };
    let px = heat_rgba(m, max_value(m));
    if let Ok(img) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&px), t as u32, t as u32) {
        let _ = ctx.put_image_data(&img, 0.0, 0.0);
    }
}

/// A paint waiting for a frame.
type Job = (HtmlCanvasElement, Box<dyn FnOnce(&HtmlCanvasElement)>);

/// Milliseconds of painting a frame may take before the rest waits for the next: the page's
/// thread stays free for keystrokes (a long task is 50 ms).
const PAINT_BUDGET_MS: f64 = 8.0;

thread_local! {
    static QUEUE: RefCell<VecDeque<Job>> = const { RefCell::new(VecDeque::new()) };
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

/// Paints `canvas` with `job` in a coming animation frame, at most [`PAINT_BUDGET_MS`] of paints
/// a frame; a canvas already waiting gets the newer job instead. The model view repaints every
/// thumbnail on every forward (albert-base: 144 of 128 × 128 pixels at 128 tokens): in one
/// task that was 140 ms.
pub fn paint_soon(canvas: HtmlCanvasElement, job: impl FnOnce(&HtmlCanvasElement) + 'static) {
    QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        q.retain(|(c, _)| c != &canvas);
        q.push_back((canvas, Box::new(job)));
    });
    if !SCHEDULED.with(|s| s.replace(true)) {
        request_animation_frame(run_paints);
    }
}

fn run_paints() {
    SCHEDULED.with(|s| s.set(false));
    let start = crate::web::now_ms();
    while crate::web::now_ms() - start < PAINT_BUDGET_MS {
        let Some((canvas, job)) = QUEUE.with(|q| q.borrow_mut().pop_front()) else { return };
        // A canvas removed meanwhile (the view closed) is skipped.
        if canvas.is_connected() {
            job(&canvas);
        }
    }
    if QUEUE.with(|q| !q.borrow().is_empty()) && !SCHEDULED.with(|s| s.replace(true)) {
        request_animation_frame(run_paints);
    }
}

/// Repaints `canvas` whenever `matrix` (`t × t`) changes or the canvas is (re)mounted.
pub fn repaint(canvas: NodeRef<html::Canvas>, matrix: Memo<Option<Vec<f32>>>, t: impl Fn() -> usize + 'static) {
    Effect::new(move |_| {
        let Some(c) = canvas.get() else { return };
        let n = t();
        matrix.with(|m| {
            if let Some(m) = m {
                paint(&c, m, n);
            }
        });
    });
}

/// Focuses the element with this id, if any.
pub fn focus_by_id(id: &str) {
    if let Some(el) = document().get_element_by_id(id) {
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    }
}

/// Scrolls `container` the least so the content box `x0..x1` × `y0..y1` is visible next to
/// sticky bands of `left` × `top` px. Only that box scrolls, never the page.
pub fn reveal(container: &web_sys::Element, (x0, x1): (f64, f64), (y0, y1): (f64, f64), left: f64, top: f64) {
    let y = reveal_scroll(container.scroll_top() as f64, container.client_height() as f64, top, y0, y1);
    let x = reveal_scroll(container.scroll_left() as f64, container.client_width() as f64, left, x0, x1);
    container.set_scroll_top(y.round() as i32);
    container.set_scroll_left(x.round() as i32);
}

/// A pointer event that really moved (scrolling under a still pointer fires ones that did not).
pub fn moved(ev: &ev::MouseEvent) -> bool {
    ev.movement_x() != 0 || ev.movement_y() != 0
}
