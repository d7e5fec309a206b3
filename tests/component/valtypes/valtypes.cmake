# The valtypes test component (tests/component/valtypes, docs/component-model.md
# "The valtypes test component"), included from tests/component/CMakeLists.txt
# after its tool checks (clang-19, node, jco are there).
#
#   component/valtypes/run-ENC    valtypes_run plays cases.txt on wisp: every
#                                 value type round-trips host -> guest -> host
#                                 import -> back; every required trap traps
#   component/valtypes/diff-ENC   the transcript of wisp equals the transcript of
#                                 the same component run by jco transpile on Node
#
# ENC is the string encoding the component is built with (jco embed
# --string-encoding): utf8, utf16, latin1 (compact-utf16 = latin1+utf16). The
# guest source is the same for all three.
set(vt_src ${CMAKE_CURRENT_SOURCE_DIR}/valtypes)
set(vt_out ${CMAKE_CURRENT_BINARY_DIR}/valtypes)
file(MAKE_DIRECTORY ${vt_out})
add_executable(valtypes_run ${vt_src}/valtypes_run.c)
target_include_directories(valtypes_run PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/src/core)
target_link_libraries(valtypes_run PRIVATE wisp_core m)
set(vt_guests)
foreach(pair utf8:0:utf8 utf16:1:utf16 latin1:2:compact-utf16)
  string(REPLACE ":" ";" pair ${pair})
  list(GET pair 0 enc)
  list(GET pair 1 encnum)
  list(GET pair 2 jcoenc)
  set(wasm ${vt_out}/valtypes_${enc}.component.wasm)
  add_custom_command(
    OUTPUT ${wasm}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${vt_out}/wit
    COMMAND ${CMAKE_COMMAND} -E copy ${vt_src}/world.wit ${vt_out}/wit/world.wit
    COMMAND ${WISP_COMPONENT_CLANG} --target=wasm32 -O2 -nostdlib -Wl,--no-entry -s -DWISP_ENC=${encnum}
            ${vt_src}/guest.c -o ${vt_out}/valtypes_${enc}.core.wasm
    COMMAND ${jco} embed --string-encoding ${jcoenc} --wit ${vt_out}/wit --world-name valtypes
            ${vt_out}/valtypes_${enc}.core.wasm -o ${vt_out}/valtypes_${enc}.embed.wasm
    COMMAND ${jco} new ${vt_out}/valtypes_${enc}.embed.wasm -o ${wasm}
    DEPENDS ${vt_src}/guest.c ${vt_src}/world.wit
    COMMENT "Building component valtypes_${enc}.component.wasm (clang-19, jco embed --string-encoding ${jcoenc}, jco new)"
    VERBATIM)
  # jco transpile: the same component as JavaScript + core wasm, instantiated by
  # transpile.mjs. jco 1.x cannot transpile latin1+utf16 (it traps in its
  # bindgen): that one is compared with the utf8 component's run on Node (the
  # host sees the same UTF-8 strings whatever the guest's encoding).
  set(jsenc ${enc})
  if(enc STREQUAL "latin1")
    set(jsenc utf8)
  else()
  add_custom_command(
    OUTPUT ${vt_out}/js-${enc}/valtypes.js
    COMMAND ${jco} transpile ${wasm} --instantiation async --no-typescript --quiet --name valtypes
            -o ${vt_out}/js-${enc}
    DEPENDS ${wasm}
    COMMENT "Transpiling valtypes_${enc}.component.wasm (jco transpile)"
    VERBATIM)
  list(APPEND vt_guests ${vt_out}/js-${enc}/valtypes.js)
  endif()
  list(APPEND vt_guests ${wasm})
  add_test(NAME component/valtypes/run-${enc} COMMAND valtypes_run ${wasm} ${vt_src}/cases.txt)
  add_test(NAME component/valtypes/diff-${enc}
           COMMAND ${vt_src}/diff.sh $<TARGET_FILE:valtypes_run> ${WISP_COMPONENT_NODE} ${vt_src}/transpile.mjs
                   ${wasm} ${vt_out}/js-${jsenc}/valtypes.js ${vt_src}/cases.txt ${vt_out}/${enc})
endforeach()
add_custom_target(valtypes_guests ALL DEPENDS ${vt_guests})
# mutate: decoding one-byte mutants of the component never crashes;
# mutants: 200 one-byte mutants, those that still decode instantiated and the
# whole script played on them (traps and refusals fine; no crash, no leak in the
# sanitizer build); nomem: every allocation of decoding fails once in turn
set(vt_utf8 ${vt_out}/valtypes_utf8.component.wasm)
add_test(NAME component/valtypes/mutate COMMAND component_mutate ${vt_utf8})
add_test(NAME component/valtypes/mutants COMMAND valtypes_run --mutants 200 ${vt_utf8} ${vt_src}/cases.txt)
add_test(NAME component/valtypes/nomem COMMAND component_nomem ${vt_utf8})
