//! The few DOM operations the attention views need: painting a matrix into a canvas, moving
//! keyboard focus, and scrolling a box to reveal an item.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::view_model::attention::colour::{heat_rgba, max_value};
use crate::view_model::attention::geometry::reveal_scroll;

/// Paints a `t × t` matrix into a canvas of `t × t` pixels (CSS scales it), viridis from 0 to
/// the matrix's largest value.
pub fn paint(canvas: &HtmlCanvasElement, m: &[f32], t: usize) {
    if t == 0 || m.len() != t * t {
        return;
    }
    canvas.set_width(t as u32);
    canvas.set_height(t as u32);
    let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
    let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() else { return };
    let px = heat_rgba(m, max_value(m));
    if let Ok(img) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&px), t as u32, t as u32) {
        let _ = ctx.put_image_data(&img, 0.0, 0.0);
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
